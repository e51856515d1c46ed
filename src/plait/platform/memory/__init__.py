"""What bots remember beyond one prompt: section summaries (`summaries`), users' long-term variables
(`variables`, and the agent's `tools` over them), and user sessions (`sessions`). See docs/agents.md, Memory."""
