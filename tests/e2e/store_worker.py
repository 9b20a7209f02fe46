"""Helper for test_store_serving.py (not a test): one process of several using the same store at once.

    python tests/e2e/store_worker.py GO_FILE WHAT PROCESS COUNT

Settings come from the environment ($BOT_FEEDBACK_DB or $DATABASE_URL). The worker opens the store, waits
for GO_FILE to appear (so all workers start together), then does WHAT COUNT times and prints one JSON line:
``limit`` counts a question of user 1 against 50 per hour (how many were allowed); ``prompts`` remembers
prompt messages PROCESS*1000+i of chat 7 (keeping all); ``memory`` writes chat 7's memory and chat PROCESS's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.config import load_settings  # noqa: E402
from bot.store import RateLimiter, Store  # noqa: E402

LIMIT = 50


def main(go: Path, what: str, process: int, count: int) -> int:
    store = Store(load_settings())
    store.open()
    while not go.exists():
        time.sleep(0.005)
    limiter = RateLimiter("questions", LIMIT, store, window=3600)
    allowed = 0
    for n in range(count):
        if what == "limit":
            allowed += limiter.check(1).allowed
        elif what == "prompts":
            allowed += store.remember_prompt(7, process * 1000 + n, 1, keep=100_000)
        else:
            store.save_memory(7, json.dumps({"by": process, "n": n}))
            store.save_memory(process, json.dumps({"n": n}))
            allowed += 1
    store.close()
    print(json.dumps({"process": process, "done": allowed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
