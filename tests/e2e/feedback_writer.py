"""Helper for test_feedback_durability.py (not a test): write questions and votes to a Store in a tight
loop until killed.

    python tests/feedback_writer.py DATABASE PROCESS_NUMBER

Each question is followed by its vote; after each committed write a line goes to stdout ("q ID" after the
question, "v ID" after its vote), so the test knows what was committed before it killed the process. The
store's clock runs ten minutes per question with a one-day retention, so the store also purges old rows
(one transaction deleting votes, then questions) every 144 questions: a kill can land in any of these.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.config import load_settings  # noqa: E402
from bot.store import Store  # noqa: E402


def main(database: str, process: int) -> int:
    settings = load_settings(environ={}).replace(feedback_db=database, feedback_retention_days=1,
                                                 user_id_salt="durability-test")
    now = [time.time()]
    store = Store(settings, clock=lambda: now[0])
    n = 0
    while True:
        now[0] += 600
        user = 1000 + n % 7
        text = f"问题 {process}-{n}：城市书房有多少家？" + "温州" * (n % 40)
        question = store.record_question(user, text, n % 3 != 0, "" if n % 3 else "off_topic", ["s8-2"], "b1")
        if question is None:
            print("error: a question was not stored", file=sys.stderr, flush=True)
            return 1
        print(f"q {question}", flush=True)
        if not store.vote(question, user, 1 if n % 2 else -1).stored:
            print("error: a vote was not stored", file=sys.stderr, flush=True)
            return 1
        print(f"v {question}", flush=True)
        n += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
