"""MSP Server: the Mandatory Session Protocol in the editor and the terminal."""

__version__ = "0.1.0"
