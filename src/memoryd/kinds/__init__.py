"""Operations of the typed kinds on top of the engine: conversations (``message``),
session state (``state``) and key/value (``kv``)."""

from memoryd.kinds.conversations import ConversationsMixin
from memoryd.kinds.state import StateMixin

__all__ = ["ConversationsMixin", "StateMixin"]
