// Names the frames of `perf script -F ip,dso` output for a stripped Go binary and prints where its CPU went,
// as JSON. Stripped Go binaries keep their function table (.gopclntab, which the runtime needs for its own
// stack traces), so the Temporal CLI's release binary can be profiled without building it from source.
//
//	perf script -i perf.data -F ip,dso | server-profile <binary>
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Frames whose inclusive share says where a Temporal server's time goes.
var groups = map[string]string{
	"visibility: record started":     "(*VisibilityStore).RecordWorkflowExecutionStarted",
	"visibility: record closed":      "(*VisibilityStore).RecordWorkflowExecutionClosed",
	"visibility: upsert":             "(*VisibilityStore).UpsertWorkflowExecution",
	"history: start workflow":        "(*historyEngineImpl).StartWorkflowExecution",
	"history: workflow task started": "(*historyEngineImpl).RecordWorkflowTaskStarted",
	"history: workflow task done":    "(*historyEngineImpl).RespondWorkflowTaskCompleted",
	"history: transfer tasks":        "(*transferQueueActiveTaskExecutor).Execute",
	"history: timer tasks":           "(*timerQueueActiveTaskExecutor).Execute",
	"matching":                       "go.temporal.io/server/service/matching.",
	"sqlite: statement preparation":  "modernc.org/sqlite.newStmt",
	"sqlite: commit (WAL writes)":    "modernc.org/sqlite/lib._sqlite3VdbeHalt",
	"go: garbage collection":         "runtime.gcBgMarkWorker",
	"kernel":                         "[kernel]",
}

type share struct {
	Name  string  `json:"name"`
	Share float64 `json:"share"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: perf script -F ip,dso | server-profile <go binary>")
		os.Exit(2)
	}
	binary := os.Args[1]
	f, err := elf.Open(binary)
	if err != nil {
		fail(err)
	}
	pcln := f.Section(".gopclntab")
	text := f.Section(".text")
	if pcln == nil || text == nil {
		fail(fmt.Errorf("%s has no .gopclntab: not a Go binary", binary))
	}
	data, err := pcln.Data()
	if err != nil {
		fail(err)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		fail(err)
	}
	// perf prints a static executable's addresses as file offsets; the text segment maps them at this base.
	base := text.Addr - text.Offset

	self, inclusive := map[string]int{}, map[string]int{}
	samples := 0
	var frames []string
	flush := func() {
		if len(frames) == 0 {
			return
		}
		samples++
		self[frames[0]]++
		seen := map[string]bool{}
		for _, name := range frames {
			if !seen[name] {
				seen[name] = true
				inclusive[name]++
			}
		}
		frames = frames[:0]
	}
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			flush()
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil {
			continue
		}
		dso := strings.Trim(fields[len(fields)-1], "()")
		name := "[" + dso + "]"
		switch {
		case strings.Contains(dso, "kernel"):
			name = "[kernel]"
		case dso == binary || strings.HasSuffix(dso, "/"+lastPart(binary)):
			if fn := table.PCToFunc(addr + base); fn != nil {
				name = fn.Name
			}
		}
		frames = append(frames, name)
	}
	flush()

	grouped := []share{}
	for label, frame := range groups {
		hits := 0
		for name, n := range inclusive {
			if strings.Contains(name, frame) && n > hits {
				hits = n
			}
		}
		grouped = append(grouped, share{label, ratio(hits, samples)})
	}
	sort.Slice(grouped, func(i, j int) bool { return grouped[i].Share > grouped[j].Share })
	out := map[string]any{
		"samples":     samples,
		"groups":      grouped,
		"topSelf":     top(self, samples, 30),
		"topIncluded": top(inclusive, samples, 60),
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func top(counts map[string]int, samples, n int) []share {
	list := make([]share, 0, len(counts))
	for name, hits := range counts {
		list = append(list, share{name, ratio(hits, samples)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Share > list[j].Share })
	if len(list) > n {
		list = list[:n]
	}
	return list
}

func ratio(hits, samples int) float64 {
	if samples == 0 {
		return 0
	}
	return float64(int(1000*float64(hits)/float64(samples))) / 1000
}

func lastPart(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "server-profile:", err)
	os.Exit(1)
}
