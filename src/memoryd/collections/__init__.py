"""Typed collections on top of the engine: conversations, state, key/value, export/import."""

from memoryd.collections.conversations import ConversationsMixin
from memoryd.collections.state import StateMixin
from memoryd.collections.transfer import TransferMixin

__all__ = ["ConversationsMixin", "StateMixin", "TransferMixin"]
