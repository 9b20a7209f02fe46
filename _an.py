import numpy as np
from bot.ranking import load_model, ANSWER_FEATURES
from pathlib import Path
d=np.load('/tmp/answer.npz'); x,y,fit,sets,q=d['x'],d['y'],d['fit'],d['sets'],d['q']
m=load_model(Path('/tmp/ranking.json'))
z=m.answerable.decision(x)
for name in sorted(set(sets)):
    s=sets==name
    print(name, "pos" if y[s].all() else "neg", np.round(np.percentile(z[s],[0.5,1,2,5,50,95,99,99.5]),2))
neg=np.where(~y)[0]; neg=neg[np.argsort(-z[neg])][:15]
for i in neg: print(sets[i], round(float(z[i]),2), q[i], np.round(x[i],2))
pos=np.where(y)[0]; pos=pos[np.argsort(z[pos])][:15]
for i in pos: print(sets[i], round(float(z[i]),2), q[i], np.round(x[i],2))
print("----")
for name in ["dev","heldout"]:
    s=(sets==name)&~y
    print(name, "neg", np.sort(z[s])[-5:], [q[i] for i in np.where(s)[0][np.argsort(-z[s])][:3]])
    s=(sets==name)&y
    print(name, "pos", np.sort(z[s])[:8])
local=(~y)&np.array([("knowledge" in s) or s in ("dev","heldout") for s in sets])
t=z[local&fit].max()
print("t",t)
for name in sorted(set(sets)):
    s=sets==name
    print(name, "answered" if y[s].any() else "", (z[s&y]>=t).mean() if y[s].any() else "", "declined", (z[s&~y]<t).mean() if (~y[s]).any() else "")
