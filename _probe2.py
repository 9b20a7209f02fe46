import sys
from bot.config import load_settings
from bot.engine import Engine
e=Engine(load_settings())
for q in sys.argv[1:]:
    r=e.state.searcher.search(q)
    print(q, r.answered, r.abstain_reason, [ (h.chunk.id, round(h.score,3)) for h in r.hits], [h.chunk.id for h in e.state.searcher.shown(r.hits)])
    for h in r.hits[:2]: print("   ", h.chunk.text[:300])
