"""A capture per epoch beside a developer running mistique ls: 30 log --stream processes one after another
while two loops run ls on the store; prints how many failed. Usage: python3 bench/epochs_beside_ls.py <dist/src/cli/bin.js> <label>"""
import subprocess, struct, json, shutil, array, sys, threading, time
cli=sys.argv[1]; import tempfile, os
store=os.path.join(tempfile.mkdtemp(), 'ep_'+sys.argv[2])
shutil.rmtree(store, ignore_errors=True)
def msg(h, payload=b''):
    hb=json.dumps(h).encode(); return struct.pack('<I',len(hb))+hb+payload
vals=array.array('f',[1.0]*40).tobytes()
stop=False; lsn=[0]
def ls():
    while not stop:
        subprocess.run(['node',cli,'ls','--store',store],capture_output=True); lsn[0]+=1
ths=[threading.Thread(target=ls) for _ in range(2)]
subprocess.run(['node',cli,'log','--stream','--store',store],input=msg({'op':'batch','key':'p.init.x','dtype':'float32','shape':[4,10],'bytes':160},vals)+msg({'op':'end'}),capture_output=True)
for t in ths: t.start()
fails=[]
for ep in range(30):
    p=subprocess.run(['node',cli,'log','--stream','--store',store],input=msg({'op':'batch','key':f'p.e{ep}.x','dtype':'float32','shape':[4,10],'bytes':160},vals)+msg({'op':'end'}),capture_output=True)
    if p.returncode: fails.append(p.stderr.decode()[:80])
stop=True
for t in ths: t.join()
print(sys.argv[2], 'epochs failed', len(fails), 'of 30; ls runs', lsn[0], fails[:2])
