// lab-cri: the few CRI calls tests/lab/node/down.sh needs while containerd still runs (crictl's
// module does not resolve against this Kubernetes version), with the same CRI API the kubelet uses.
//
//	lab-cri -endpoint unix:///PATH/containerd.sock ps        one line per pod sandbox and container
//	lab-cri -endpoint unix:///PATH/containerd.sock rm-all    stop and remove every pod sandbox
//	                                                         (containers killed, CNI DEL, netns removed)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI endpoint, unix:///path/to/socket")
	timeout := flag.Duration("timeout", 60*time.Second, "overall timeout")
	flag.Parse()
	if *endpoint == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: lab-cri -endpoint unix:///PATH ps|rm-all")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	sandboxes, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		fail(err)
	}
	switch flag.Arg(0) {
	case "ps":
		containers, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		if err != nil {
			fail(err)
		}
		for _, s := range sandboxes.Items {
			fmt.Printf("sandbox   %.13s %-14s %s/%s\n", s.Id, s.State, s.Metadata.Namespace, s.Metadata.Name)
		}
		for _, c := range containers.Containers {
			fmt.Printf("container %.13s %-14s %s (sandbox %.13s)\n", c.Id, c.State, c.Metadata.Name, c.PodSandboxId)
		}
	case "rm-all":
		rc := 0
		for _, s := range sandboxes.Items {
			name := s.Metadata.Namespace + "/" + s.Metadata.Name
			if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
				fmt.Fprintf(os.Stderr, "stop sandbox %.13s (%s): %v\n", s.Id, name, err)
				rc = 1
			}
			if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
				fmt.Fprintf(os.Stderr, "remove sandbox %.13s (%s): %v\n", s.Id, name, err)
				rc = 1
				continue
			}
			fmt.Printf("removed sandbox %.13s (%s)\n", s.Id, name)
		}
		os.Exit(rc)
	default:
		fmt.Fprintln(os.Stderr, "unknown command", flag.Arg(0))
		os.Exit(2)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "lab-cri:", err)
	os.Exit(1)
}
