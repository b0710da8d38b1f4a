"""pygls glue: commands, notifications, didSave and code actions over the core."""
