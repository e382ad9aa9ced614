// node-smoke: the workload of tests/lab/node/smoke.sh.
//
//	node-smoke           serve HTTP on :8080 ("/" answers "node-smoke ok HOSTNAME"), one log line per request
//	node-smoke id        print uid, gid and hostname (for kubectl exec; the image has no shell)
//	node-smoke get URL   GET URL (TLS not verified), print the status line or the error; exit 1 on error
package main

import (
	"crypto/tls"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	host, _ := os.Hostname()
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "id":
			fmt.Printf("uid=%d gid=%d hostname=%s\n", os.Getuid(), os.Getgid(), host)
			return
		case "get":
			if len(os.Args) != 3 {
				log.Fatal("usage: node-smoke get URL")
			}
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // #nosec G402 -- a reachability probe
			}}
			resp, err := client.Get(os.Args[2])
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			resp.Body.Close()
			fmt.Println(resp.Status)
			return
		}
	}
	addr := ":8080"
	if v := os.Getenv("LISTEN"); v != "" {
		addr = v
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.Path)
		fmt.Fprintf(w, "node-smoke ok %s\n", host)
	})
	log.Printf("node-smoke listening on %s (uid %d)", addr, os.Getuid())
	log.Fatal(http.ListenAndServe(addr, nil))
}
