"""A chat: its records and run events, the use cases that start, resume and cancel it, and the runner."""
