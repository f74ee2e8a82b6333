package model_test

import (
	"bufio"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
	"github.com/fmcore/fmcore/model/nn"
)

// The network benchmarks of docs/PERFORMANCE.md "Network" (scripts/bench.sh runs them
// beside the PyTorch reference). Every case is a shipped config, built as `fmcore train`
// builds it, with one session, the initialisation of the config's seed (the zero-initialised
// parameters drawn at random instead, so no gradient vanishes) and random inputs:
//
//	go test ./model -run xxx -bench 'TrainStep|StreamStep' -benchtime 20x
//	go test ./model -run xxx -bench TrainStep/small -cpuprofile cpu.out -benchtime 20x

// benchCase is a config and a session size to benchmark.
type benchCase struct {
	config string // shipped config name (internal/config.Load)
	units  int    // units of the one session
}

// benchSetup loads a shipped config, builds its network with one session of units units
// and returns it with the config's train section (batch size and window).
func benchSetup(b *testing.B, c benchCase) (*model.Network, config.File) {
	b.Helper()
	f, err := config.Load(c.config)
	if err != nil {
		b.Fatal(err)
	}
	net, err := model.Build(f.Model, []model.SessionSpec{{Key: "1-1", Units: c.units}}, f.Train.Seed)
	if err != nil {
		b.Fatal(err)
	}
	// The specification's initialisation zeroes the readout features, so every rate is 1
	// and some gradients vanish; random values exercise the whole network.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sp := range net.SessionParams("1-1") {
		if v := net.Value(model.ParamKey("1-1", sp.Name)); sp.Init.Kind == nn.InitZero {
			for i := range v {
				v[i] = float32(0.1 * rng.NormFloat64())
			}
		}
	}
	return net, f
}

// randomBatch fills a training batch of N sequences of T frames with random inputs.
func randomBatch(net *model.Network, units, N, T int, rng *rand.Rand) *model.Batch {
	cfg := net.Config
	HW := cfg.StimulusHeight * cfg.StimulusWidth
	bt := &model.Batch{Frames: make([]uint8, N*T*HW), Eye: make([]float32, N*T*2), Behavior: make([]float32, N*T*2),
		Jitter: make([]float32, N*6), Eps: make([]float32, N*units*2), Targets: make([]float32, N*T*units)}
	for i := range bt.Frames {
		bt.Frames[i] = uint8(rng.IntN(256))
	}
	for _, v := range [][]float32{bt.Eye, bt.Behavior, bt.Jitter, bt.Eps} {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	for i := range bt.Targets {
		bt.Targets[i] = float32(rng.ExpFloat64())
	}
	return bt
}

// BenchmarkTrainStep times one training step as train.Trainer runs it: the unrolled
// window's forward and backward pass on batch_size × window frames of one session (stream
// drawn in turn), then the SgdClip update of every parameter that got a gradient. It
// reports frames/s (N·T per step).
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []benchCase{{"small", 500}, {"tiny", 5}} {
		b.Run(c.config, func(b *testing.B) {
			net, f := benchSetup(b, c)
			tc := f.Train
			w, err := net.NewWindow("1-1", tc.BatchSize, tc.Window, tc.Burnin, true)
			if err != nil {
				b.Fatal(err)
			}
			opt, err := train.NewSgdClip(tc.Optimizer)
			if err != nil {
				b.Fatal(err)
			}
			var params []*train.Param
			grads := map[string][]float32{}
			streamOf := map[*train.Param]int{}
			add := func(key string, stream int) {
				sp, _ := net.Spec(key)
				p := &train.Param{Name: key, Shape: sp.Shape, Value: net.Value(key), Grad: make([]float32, sp.Size()),
					Scale: sp.Scale, Decay: sp.Decay, NormDims: sp.NormDims}
				params = append(params, p)
				grads[key] = p.Grad
				streamOf[p] = stream
			}
			for _, sp := range net.CoreParams() {
				add(sp.Name, sp.Stream)
			}
			for _, sp := range net.SessionParams("1-1") {
				add(model.ParamKey("1-1", sp.Name), sp.Stream)
			}
			batch := randomBatch(net, c.units, tc.BatchSize, tc.Window, rand.New(rand.NewPCG(3, 4)))
			S := net.Config.Streams
			step := 0
			var m meter
			for b.Loop() {
				m.step(b, step)
				s := step % S
				step++
				if _, _, err := w.Run(s, batch, grads); err != nil {
					b.Fatal(err)
				}
				for _, p := range params {
					if st := streamOf[p]; st < 0 || st == s {
						p.HasGrad = true
					} else {
						clear(p.Grad)
					}
				}
				if err := opt.Step(params, tc.Schedule.LR); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b, step)
			b.ReportMetric(float64(tc.BatchSize*tc.Window)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkStreamStep times one streaming inference step (model.Stepper.Step): one frame
// of batch_size sequences through every stream, the ensemble's rates returned. The paper
// case is one sequence with 8,000 units (MODEL.md 6's per-frame figure).
func BenchmarkStreamStep(b *testing.B) {
	for _, c := range []struct {
		benchCase
		n int // sequences; 0: the config's batch_size
	}{{benchCase{"small", 500}, 0}, {benchCase{"tiny", 5}, 0}, {benchCase{"paper", 8000}, 1}} {
		b.Run(c.config, func(b *testing.B) {
			net, f := benchSetup(b, c.benchCase)
			N := c.n
			if N == 0 {
				N = f.Train.BatchSize
			}
			st, err := net.NewStepper("1-1", N)
			if err != nil {
				b.Fatal(err)
			}
			const frames = 16 // distinct frames, fed in a loop
			batch := randomBatch(net, c.units, N, frames, rand.New(rand.NewPCG(5, 6)))
			HW := net.Config.StimulusHeight * net.Config.StimulusWidth
			// Step takes frame t of every sequence: [N, H, W], [N, 2], [N, 2].
			px := make([][]uint8, frames)
			eye, beh := make([][]float32, frames), make([][]float32, frames)
			for t := range frames {
				px[t] = make([]uint8, N*HW)
				eye[t], beh[t] = make([]float32, N*2), make([]float32, N*2)
				for n := range N {
					copy(px[t][n*HW:(n+1)*HW], batch.Frames[(n*frames+t)*HW:(n*frames+t+1)*HW])
					copy(eye[t][n*2:n*2+2], batch.Eye[(n*frames+t)*2:])
					copy(beh[t][n*2:n*2+2], batch.Behavior[(n*frames+t)*2:])
				}
			}
			t := 0
			var m meter
			for b.Loop() {
				m.step(b, t)
				if _, err := st.Step(px[t%frames], eye[t%frames], beh[t%frames]); err != nil {
					b.Fatal(err)
				}
				t++
			}
			m.report(b, t)
		})
	}
}

// meter measures what the benchmarks report beside the time: CPU seconds per step (user +
// system, so cores busy = cpu-s/op ÷ s/op); resident memory from /proc/self/status on Linux,
// the peak (VmHWM) and the growth of VmRSS from step 10 to the last step; and the growth of the
// live heap (after a forced collection, outside the timer) over the same steps, which is zero
// unless something is kept from step to step. RSS may still rise while the garbage collector
// lets the heap grow towards twice the live heap (GOGC) before its first cycle.
type meter struct {
	cpu0         time.Duration
	rss10, live0 float64
}

// step records the state before step i (0-based).
func (m *meter) step(b *testing.B, i int) {
	switch i {
	case 0:
		m.cpu0 = cpuTime()
	case 10:
		m.rss10 = procMB("VmRSS")
		b.StopTimer()
		m.live0 = liveMB()
		b.StartTimer()
	}
}

// report adds the metrics after steps steps.
func (m *meter) report(b *testing.B, steps int) {
	if steps == 0 {
		return
	}
	b.ReportMetric((cpuTime()-m.cpu0).Seconds()/float64(steps), "cpu-s/op")
	if peak := procMB("VmHWM"); peak > 0 {
		b.ReportMetric(peak, "peak-MB")
	}
	if steps > 10 {
		if m.rss10 > 0 {
			b.ReportMetric(procMB("VmRSS")-m.rss10, "rss-growth-MB")
		}
		b.ReportMetric(liveMB()-m.live0, "live-growth-MB")
	}
}

// liveMB returns the live heap after a full collection, in MB.
func liveMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procMB returns a "kB" field of /proc/self/status in MB, or 0 where there is none.
func procMB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0
		}
		return kb / 1024
	}
	return 0
}
