"""The application service, one module per job: `workspace` composes session actions, the
integration bus, payload views, import and redaction over one folder's store."""
