"""The curated public surface: every exported name exists, and changing the surface is a deliberate edit here."""

from __future__ import annotations

import importlib

import pytest

SURFACE = {
    "plait.schema": {
        "AudioPart", "ConcatError", "ContentPart", "Document", "FilePart", "ImagePart", "Message", "PlaitError",
        "Role", "StreamClosedError", "StreamReader", "StreamWriter", "TextPart", "ToolArgumentsError", "ToolCall",
        "ToolSpec", "Usage", "as_stream", "concat", "merge", "pipe", "register_concat",
    },
    "plait.compose": {
        "END", "START", "CallbackHandler", "Chain", "Checkpoint", "CheckpointCorrupt", "CheckpointError",
        "CheckpointNotFound", "Checkpointer", "CompiledGraph", "Graph", "GraphInterrupted", "GraphRunError",
        "GraphSetupError", "Interrupt", "Lambda", "MaxStepsExceeded", "MemoryCheckpointer", "NodeTimeoutError",
        "RetryPolicy", "RunInfo", "Runnable", "SQLiteCheckpointer", "Workflow", "WorkflowNode", "add",
        "add_global_handler", "append", "interrupt", "merge", "remove_global_handler",
    },
    "plait.components": {
        "ChatModel", "Embedder", "Indexer", "Loader", "PromptTemplate", "Reranker", "Retriever", "Splitter", "Tool",
    },
    "plait.models": {"ScriptExhausted", "ScriptedChatModel"},
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(SURFACE))
def test_exported_names_are_the_curated_surface(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == SURFACE[module_name]
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is exported but missing"
