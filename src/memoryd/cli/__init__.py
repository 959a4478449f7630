"""The ``memoryd`` command line: thin commands over :class:`memoryd.Memory` / ``Client``.

Results go to stdout (``--format table|json|yaml``); progress bars, notes
and one-line errors (``error[code]: message``) go to stderr.
"""
