"""Why a face leaves an operation out: the reasons the registry's declarations give.

MCP carries a deliberately small tool set: every tool's schema is sent to the
model with each request, so a tool exists where agents act during a task
(save, search, recall a session, learn from episodes) and the rest stays on
REST, the clients and the CLI.
"""

__all__ = [
    "BULK",
    "CLI_LATER",
    "INTERNAL",
    "KV_TOOLS",
    "LEARNING_TOOLS",
    "OPERATOR",
    "PATTERN_TOOLS",
]

#: Why the CLI lacks the operations issue 14 (the operator's CLI) adds.
CLI_LATER = "not in the CLI yet: the operator's CLI (issue 14) adds it"
#: Why MCP lacks the bulk and operator operations.
BULK = "bulk transfer of files or many records, not an agent's tool call (REST, clients, CLI)"
OPERATOR = "an operator's act, kept out of the tools agents see (REST, clients, CLI)"
LEARNING_TOOLS = (
    "agents reach episodes through create_episode, add_episode_step, complete_episode and "
    "query_memory; managing them stays on REST, the clients and the CLI"
)
PATTERN_TOOLS = "agents get patterns through recommend_patterns and query_memory"
KV_TOOLS = "agents keep values per session with state_set/state_get; key/values are for programs"
INTERNAL = "an engine internal, not an operation of the service"
