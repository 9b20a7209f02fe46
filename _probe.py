import sys
from bot.config import load_settings
from bot.engine import Engine
e=Engine(load_settings())
for q in sys.argv[1:]:
    a=e.answer(q); r=e.state.searcher.search(q)
    print(q, a.answered, a.abstain_reason, round(r.answerable,3), r.query.asked_units, r.query.counted, r.query.noun, "|", a.passages[0].text[:50] if a.passages else "")
