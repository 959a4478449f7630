"""Typed collections on top of the engine: conversations, session state, key/value."""

from memoryd.collections.conversations import ConversationsMixin
from memoryd.collections.state import StateMixin

__all__ = ["ConversationsMixin", "StateMixin"]
