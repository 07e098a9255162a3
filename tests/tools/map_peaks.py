#!/usr/bin/env python3
"""map_peaks.py - test helper: reads a `gradcampp -json -raw` output folder's gradcampp.json and the
16-bit PNG maps, and prints for each map: kind, class name, peak x y, and for detections the box
and INSIDE/outside. With --box L,T,W,H every map's peak is also tested against that box.
Also prints the mean absolute difference between the first two maps named by --diff A,B."""
import json, struct, sys, zlib
def read_png16(p):
    d=open(p,'rb').read(); assert d[:8]==b'\x89PNG\r\n\x1a\n'; i=8; idat=b''; w=h=0
    while i<len(d):
        n=struct.unpack('>I',d[i:i+4])[0]; t=d[i+4:i+8]; c=d[i+8:i+8+n]; i+=12+n
        if t==b'IHDR': w,h,bd,ct=struct.unpack('>IIBB',c[:10])
        elif t==b'IDAT': idat+=c
    raw=zlib.decompress(idat); bpp=2; stride=w*bpp; out=[]; prev=bytearray(stride); p=0
    for y in range(h):
        f=raw[p]; p+=1; line=bytearray(raw[p:p+stride]); p+=stride
        for x in range(stride):
            a=line[x-bpp] if x>=bpp else 0; b=prev[x]; cc=prev[x-bpp] if x>=bpp else 0
            if f==1: line[x]=(line[x]+a)&255
            elif f==2: line[x]=(line[x]+b)&255
            elif f==3: line[x]=(line[x]+(a+b)//2)&255
            elif f==4:
                pa=abs(b-cc); pb=abs(a-cc); pc=abs(a+b-2*cc)
                pr=a if pa<=pb and pa<=pc else (b if pb<=pc else cc); line[x]=(line[x]+pr)&255
        out.append([ (line[2*x]<<8)|line[2*x+1] for x in range(w)]); prev=line
    return w,h,out
args = sys.argv[1:]
box = None
diff = None
while args and args[0].startswith('--'):
    if args[0] == '--box':
        box = [float(v) for v in args[1].split(',')]
    elif args[0] == '--diff':
        diff = args[1].split(',')
    args = args[2:]
j = json.load(open(args[0]))
maps = {}
for im in j['images']:
    for m in im['maps']:
        w, h, a = read_png16(m['file'][:-4] + '.raw.png')
        maps[m['file'].rsplit('/', 1)[-1]] = a
        best = max(((a[y][x], x, y) for y in range(h) for x in range(w)))
        b = m.get('box', box)
        where = ''
        if b:
            l, t, bw, bh = b
            where = ' box %s %s' % ([round(v) for v in b], 'INSIDE' if l <= best[1] <= l + bw and t <= best[2] <= t + bh else 'outside')
        print('%s %s peak %d %d%s' % (m['kind'], m['name'].replace(' ', '_'), best[1], best[2], where))
if diff:
    a = next(v for k, v in maps.items() if diff[0] in k)
    b = next(v for k, v in maps.items() if diff[1] in k)
    n = len(a) * len(a[0])
    d = sum(abs(a[y][x] - b[y][x]) for y in range(len(a)) for x in range(len(a[0]))) / n / 65535
    print('diff %s %s %.4f' % (diff[0], diff[1], d))
