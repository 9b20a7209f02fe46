"""The Telegram bot: a python-telegram-bot Application around the Engine, one module per feature.

What users get: questions answered as ``python -m bot chat`` answers them (``questions``); /start, /help,
/topics, topic cards, deep links and /about (``topics``); 👍/👎, what was wrong, /feedback (``votes``);
``@bot 问题`` in any chat (``inline``); /reload and /stats for admins (``staff``). Per-user limits on
questions and on updates of every kind (``limits``), retries with back-off around every Bot API request
(``send``), a heartbeat and automatic reload (``liveness``).

Underneath: ``base`` (the state every feature shares, and the one ``user_script`` decision), ``buttons`` (the
one codec of button data and its handler patterns), ``cards`` (the only module reading the loaded content),
``keyboards``, ``links``. On top: ``wiring`` (``build_bot``: the features as an Application) and ``serve``.
Nothing is imported here, so ``python -m bot ask`` never loads python-telegram-bot.
"""
