# SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later
"""locallens-vcam: the small program that talks to the virtual camera driver through pyvirtualcam.

pyvirtualcam is GPL-2.0, LocalLens is Apache-2.0: the two are never combined in one program. The app runs this
helper as a separate process and streams frames to it over a pipe (see `__main__` for the protocol). Everything
in this package imports only the standard library, numpy and pyvirtualcam, never other desktop_app modules.
"""
