"""What users touch: the `qa` command, the Gradio chat, the MCP tools."""
