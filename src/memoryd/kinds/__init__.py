"""Components of the typed kinds on top of the memories: conversations (``message``),
session state (``state``) and key/value (``kv``)."""

from memoryd.kinds.conversations import Conversations
from memoryd.kinds.state import KeyedState

__all__ = ["Conversations", "KeyedState"]
