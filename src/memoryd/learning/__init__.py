"""Self-learning memory: episodes, rewards, reflections, patterns, recommendations, analysis.

``Memory`` gets these methods from :class:`EpisodesMixin` and
:class:`PatternsMixin`; ``Client`` mirrors them over REST. Module map:

* ``models``: pydantic models (Episode, Step, Outcome, RewardScore, Reflection, Pattern, ...)
* ``store`` / ``pattern_store``: SQL (tables of migration 3), durable extraction queue
* ``reward``, ``reflection``, ``extraction``, ``clustering``, ``scoring``: the rules
* ``recommend``: ranking of episodes and patterns for a task
* ``analysis``: time-series analysis (scipy, statsmodels)
* ``worker``: extraction passes and the background thread
"""

from memoryd.learning.episodes import EpisodesMixin
from memoryd.learning.patterns import PatternsMixin

__all__ = ["EpisodesMixin", "PatternsMixin"]
