"""The self-learning routes in one router: ``episodes`` (and ``/v1/context``) and ``patterns``."""

from __future__ import annotations

from fastapi import APIRouter

from memoryd.server.routes import episodes, patterns

__all__ = ["router"]

router = APIRouter()
router.include_router(episodes.router)
router.include_router(patterns.router)
