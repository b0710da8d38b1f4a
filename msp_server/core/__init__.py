"""The MSP domain: models, lifecycle rules, detection, export. Knows nothing of LSP or SQLite."""
