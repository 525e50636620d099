#!/bin/sh
# Certificates for the RPC tests and bench-rpc, into DIR:
#   ca.crt            the cluster CA (P-256)
#   node1.pem ...     node certificates + keys (one file each, as nng wants),
#                     CN and DNS SAN NAME.mesh.test, server and client use
#   nocn.pem          a CA-signed certificate whose subject has no CN
#   rogue.pem         a node certificate from another CA (rogueca.crt)
# Usage: mkcerts.sh DIR
set -eu
out=${1:?usage: mkcerts.sh DIR}
mkdir -p "$out"
cd "$out"

mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null
}

# mknode NAME CA SUBJECT
mknode() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
	printf 'subjectAltName=DNS:%s.mesh.test\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n' \
		"$1" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
		-out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
	cat "$1.crt" "$1.key" >"$1.pem"
	rm -f "$1.csr" "$1.ext"
}

mkca ca
mkca rogueca
for n in node1 node2 node3; do
	mknode "$n" ca "/CN=$n.mesh.test"
done
mknode nocn ca "/O=mimamori/OU=no common name"
mknode rogue rogueca "/CN=node2.mesh.test"
