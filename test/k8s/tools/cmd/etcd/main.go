// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3, the same
// code the upstream etcd binary runs, so tests can start a real etcd without
// downloading a release.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
