"""Two ``serve`` replicas behind one webhook URL behave as one bot (issue 19, item 2).

Real processes (``python -m bot serve`` in webhook mode, each with its own interpreter, memory and event loop,
as in production; a thread could not be killed with SIGKILL, and threads would share module state a real
replica never sees) on one PostgreSQL store, behind a round-robin reverse proxy (devtools.replicas), with the
fake Bot API delivering updates to the proxy as Telegram does, and again after a failed delivery. Before, each
replica kept chat memory, 👎 prompts and rate limits of its own, and an update a replica had taken was lost
when it died.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.store import Store
from devtools.fakeapi import FakeBotAPI, JSONDict
from devtools.pgserver import PostgresServer
from devtools.replicas import RoundRobinProxy, kill_run, replicas_behind_a_proxy
from tests.helpers import bold_texts, buttons

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

QUESTION_LIMIT = 3  # rate_limit_per_minute of the replicas


@dataclass
class Replicas:
    api: FakeBotAPI
    proxy: RoundRobinProxy
    store: Store

    def send(self, text: str, user: int, reply_to: JSONDict | None = None) -> int:
        """A user's message, once acknowledged and answered; the replica that handled it."""
        return self._answered(user, self.api.send_text(text, user_id=user, reply_to_message=reply_to))

    def press(self, data: str, user: int, message: JSONDict) -> int:
        """A button press under ``message``, once acknowledged and followed by a message (the 👎 prompt)."""
        return self._answered(user, self.api.send_callback(data, user_id=user, message=message))

    def _answered(self, user: int, update_id: int) -> int:
        before = len(self.api.sent_messages(user))
        self.api.wait_delivered(update_id, timeout=60)
        self.api.wait_for("sendMessage", lambda call: call.params["chat_id"] == user, count=before + 1, timeout=30)
        return self.proxy.served_by(update_id)


@pytest.fixture(scope="module")
def two(postgres_server: PostgresServer, index_dir: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Replicas]:
    url = postgres_server.create_database()
    with FakeBotAPI() as api, replicas_behind_a_proxy(api, index_dir, tmp_path_factory.mktemp("replicas"), url,
                                                       rate_limit_per_minute=str(QUESTION_LIMIT)) as (_, proxy):
        store = Store(load_settings(environ={"DATABASE_URL": url}))
        yield Replicas(api, proxy, store)
        store.close()


def test_a_follow_up_answered_by_the_other_replica_uses_the_first_ones_memory(two: Replicas) -> None:
    user = 4_100_001
    first = two.send("温州的城市书房有多少家？", user)
    second = two.send("接待了多少人次？", user)
    assert first != second and -1 not in (first, second)
    [_, follow_up] = [c.params for c in two.api.calls("sendMessage") if c.ok and c.params["chat_id"] == user]
    assert "1400多万人次" in bold_texts(follow_up)


def test_a_reason_given_on_the_other_replica_is_recorded_against_its_question(two: Replicas) -> None:
    user = 4_100_002
    two.send("瑞安金融专员发放的专项贷款有多少", user)
    [answer] = two.api.sent_messages(user)
    pressed = two.press(buttons(answer)[1][1], user, answer)  # 👎
    prompt = two.api.sent_messages(user)[-1]
    replied = two.send("数字不是最新的", user, reply_to=prompt)
    assert pressed != replied and -1 not in (pressed, replied)
    assert "记下" in two.api.sent_messages(user)[-1]["text"]  # taken as a reason, not answered as a question
    [down] = [d for d in two.store.report()["downvoted"] if d["question"] == "瑞安金融专员发放的专项贷款有多少"]
    assert down["reasons"] == [{"reason": "", "text": "数字不是最新的"}]


def test_the_question_limit_counts_a_users_questions_on_both_replicas(two: Replicas) -> None:
    user = 4_100_003
    served = {two.send("城市书房有多少家", user) for _ in range(QUESTION_LIMIT + 1)}
    assert served == {0, 1}
    texts = [m["text"] for m in two.api.sent_messages(user)]
    assert sum("超110家" in text for text in texts) == QUESTION_LIMIT and "有点快" in texts[-1]


def test_killing_a_replica_while_updates_arrive_loses_no_update_and_nothing_in_the_store(
        postgres_url: str, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBotAPI() as api, replicas_behind_a_proxy(api, index_dir, tmp_path, postgres_url) as (replicas, proxy):
        store = Store(load_settings(environ={"DATABASE_URL": postgres_url}))
        try:
            run = kill_run(api, proxy, replicas, store)
        finally:
            store.close()
    with capsys.disabled():
        print(f"\n{run.line()}")
    assert run.delivered_again >= 1  # the killed replica held updates: they came again, to the other one
    assert run.answered == run.sent and run.questions_stored == run.sent and run.memories_stored == run.sent
    assert run.answered_twice <= run.delivered_again  # only an update the killed one had answered, not acknowledged

