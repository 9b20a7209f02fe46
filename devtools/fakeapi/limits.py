"""What Telegram accepts: the sizes it enforces on a bot's requests and on what its users can send, and
``JSONDict``, the shape every Bot API object takes in the fake."""

from __future__ import annotations

import re
from typing import Any

JSONDict = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_QUERY_LENGTH = 256
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_START_PARAMETER = 64

START_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # deep-link payloads and inline buttons
