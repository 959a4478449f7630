"""Self-learning memory: episodes, rewards, reflections, patterns, recommendations, analysis.

``Memory`` delegates these methods to its :class:`Episodes` and
:class:`Patterns` components; ``Client`` mirrors them over REST. Module map:

* ``models``: pydantic models (Episode, Step, Outcome, RewardScore, Reflection, Pattern, ...)
* SQL (tables of migration 3, durable extraction queue): ``memoryd.store.episodes``,
  ``memoryd.store.patterns``
* ``reward``, ``reflection``, ``extraction``, ``clustering``, ``scoring``: the rules
* ``recommend``: ranking of episodes and patterns for a task
* ``analysis``: time-series analysis (scipy, statsmodels)
* ``worker``: extraction passes and the background thread
* ``episodes`` / ``patterns``: the components of ``Memory`` (``base``: their shared state)

This package imports nothing on its own, so importing the models (as
``memoryd`` and the HTTP client do) does not load numpy or the engine.
"""
