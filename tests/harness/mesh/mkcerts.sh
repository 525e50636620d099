#!/bin/sh
# mkcerts.sh DIR NAME... - the mesh's test PKI, into DIR:
#   ca.crt, ca.key   the cluster CA (P-256, valid 2 days)
#   NAME.pem         per member: certificate + key in one file (as nng wants),
#                    CN = NAME (= [node] hostname = the members file's NAME),
#                    DNS SAN NAME, serverAuth + clientAuth (mutual TLS)
#   rogue.pem        a certificate for the first NAME from another CA
#                    (rogueca.crt), for negative tests
# Existing files in DIR are overwritten.
set -eu
[ $# -ge 2 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
out=$1; shift
mkdir -p "$out"
cd "$out"
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null
}
mknode() { # FILE CA CN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n' \
		"$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
		-out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
	cat "$1.crt" "$1.key" >"$1.pem"
	chmod 600 "$1.pem" "$1.key"
	rm -f "$1.csr" "$1.ext"
}
mkca ca
mkca rogueca
for n in "$@"; do mknode "$n" ca "$n"; done
mknode rogue rogueca "$1"
