"""The hook markers, importable without importing the rest of the package."""

import pluggy

hookimpl = pluggy.HookimplMarker("sbcore")
