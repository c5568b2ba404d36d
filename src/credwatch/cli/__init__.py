"""The ``credwatch`` command line: parses arguments, calls the library, renders."""
