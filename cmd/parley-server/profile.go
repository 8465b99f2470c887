package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts a CPU profile into cpuFile (when named) and answers the function
// that stops it and writes a heap profile into memFile (when named). With memFile, a
// SIGUSR1 also writes the heap profile at once (to see live connections' memory).
func startProfiles(cpuFile, memFile string) (func(), error) {
	var cpu *os.File
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		cpu = f
	}
	if memFile != "" {
		usr1 := make(chan os.Signal, 1)
		notifyHeapSignal(usr1)
		go func() {
			for range usr1 {
				writeHeap(memFile)
			}
		}()
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			_ = cpu.Close()
		}
		if memFile != "" {
			writeHeap(memFile + ".end")
		}
	}, nil
}

// writeHeap writes a heap profile after a collection.
func writeHeap(name string) {
	f, err := os.Create(name)
	if err != nil {
		return
	}
	runtime.GC()
	_ = pprof.WriteHeapProfile(f)
	_ = f.Close()
}
