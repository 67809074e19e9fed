import json,sys
p=sys.argv[1]
lock=json.load(open(p))
pk=lock['packages']
plat={'darwin-arm64':('darwin','arm64'),'darwin-x64':('darwin','x64'),'linux-arm':('linux','arm'),'win32-x64':('win32','x64')}
for name,(os_,cpu) in plat.items():
    key=f'node_modules/@msgpackr-extract/msgpackr-extract-{name}'
    if key in pk: continue
    pk[key]={"version":"3.0.7","cpu":[cpu],"dev":True,"license":"MIT","optional":True,"os":[os_]}
lock['packages']=dict(sorted(pk.items(), key=lambda kv: (kv[0]!='', kv[0])))
json.dump(lock,open(p,'w'),indent=2)
open(p,'a').write('\n')
