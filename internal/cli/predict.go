package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

type predictOptions struct {
	IO       IO
	Video    string
	Model    string
	Mouse    int
	Session  string
	Behavior string
	Trial    string
	Out      string
	RateHz   float64
}

func newPredictCmd(ios IO, runF func(context.Context, *predictOptions) error) *cobra.Command {
	opts := &predictOptions{IO: ios}
	if runF == nil {
		runF = runPredict
	}
	cmd := &cobra.Command{
		Use:   "predict VIDEO --model runs/NAME --mouse 15",
		Short: "Predict every unit's response to every frame of any video",
		Long: `predict runs a trained model over any video ffmpeg reads (any length, size and frame
rate; it is resampled to the model's), one frame at a time in constant memory, and writes
every unit's predicted response per frame. Behaviour comes from a CSV file (columns
pupil, running, eye_x, eye_y; one row per frame at --rate) or from a trial of a recording
(--behavior REC.h5 --trial ID); without it the pupil and eye stay at their training means
and the running speed at 0, and the output says so. The output format follows the
extension of --out: .h5 (HDF5), .csv or .npy.`,
		Example: `  fmcore predict video.mp4 --model runs/mouse15 --mouse 15
  fmcore predict clip.mp4 --model runs/foundation --mouse 3 --behavior trial.csv --out preds.csv`,
		Args: exactArgs(1, "one video"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Video = args[0]
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Model, "model", "runs/foundation", "run folder (its best model) or checkpoint folder")
	f.IntVar(&opts.Mouse, "mouse", 0, "mouse whose units to predict (required)")
	f.StringVar(&opts.Session, "session", "", "session of that mouse (needed when the model has several)")
	f.StringVar(&opts.Behavior, "behavior", "", "behaviour: a CSV file, or a recording with --trial")
	f.StringVar(&opts.Trial, "trial", "", "trial of the --behavior recording whose behaviour to use")
	f.StringVar(&opts.Out, "out", "predictions.h5", "output file: .h5, .csv or .npy")
	f.Float64Var(&opts.RateHz, "rate", 30, "model frame rate in Hz (the recordings' clock)")
	return cmd
}

// modelDir resolves a run folder to its best model, or takes a checkpoint folder as is.
func modelDir(path string) string {
	if _, err := os.Stat(filepath.Join(path, "best", "core.fmck")); err == nil {
		return filepath.Join(path, "best")
	}
	if _, err := os.Stat(filepath.Join(path, "checkpoint", "core.fmck")); err == nil {
		return filepath.Join(path, "checkpoint")
	}
	return path
}

func runPredict(ctx context.Context, opts *predictOptions) error {
	if opts.Mouse < 1 {
		return usagef("--mouse is required: the mouse whose units to predict")
	}
	ext := strings.ToLower(filepath.Ext(opts.Out))
	if ext != ".h5" && ext != ".hdf5" && ext != ".csv" && ext != ".npy" {
		return usagef("--out %s: the extension must be .h5, .csv or .npy", opts.Out)
	}
	if !(opts.RateHz > 0) || math.IsInf(opts.RateHz, 0) {
		return usagef("--rate %g, want a positive frame rate", opts.RateHz)
	}
	dir := modelDir(opts.Model)
	key, err := pickSession(dir, opts.Mouse, opts.Session)
	if err != nil {
		return err
	}
	net, _, saved, err := loadModel(dir, key)
	if err != nil {
		return err
	}
	stats, ok := saved.Stats[key]
	if !ok {
		return fmt.Errorf("model %s: session %s has no standardisation statistics", dir, key)
	}
	units := saved.Units[key]
	cfg := net.Config
	info, err := video.Probe(ctx, opts.Video)
	if err != nil {
		return err
	}
	T := info.OutputFrames(opts.RateHz)
	beh, source, err := readBehavior(opts, T, &stats)
	if err != nil {
		return err
	}
	dec, err := video.Open(ctx, opts.Video, video.Params{Width: cfg.StimulusWidth, Height: cfg.StimulusHeight, RateHz: opts.RateHz})
	if err != nil {
		return err
	}
	defer dec.Close()
	st, err := net.NewStepper(key, 1)
	if err != nil {
		return err
	}
	U := units.Len()
	frame := make([]byte, cfg.StimulusWidth*cfg.StimulusHeight)
	out := make([]float32, 0, T*U)
	bar := newProgress(opts.IO.Err, "predict", "frames")
	for t := 0; ; t++ {
		err := dec.Next(frame)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		i := min(t, T-1) // a decoder may yield a frame more than the probe's estimate
		rates, err := st.Step(frame, beh.eye[2*i:2*i+2], beh.behavior[2*i:2*i+2])
		if err != nil {
			return err
		}
		for u, r := range rates {
			out = append(out, r*stats.ResponseScale[u]) // back to the recording's units
		}
		bar.Update(t+1, T)
	}
	bar.Finish()
	n := len(out) / U
	attrs := map[string]string{"model": dir, "mouse": strconv.Itoa(opts.Mouse), "session": key, "video": opts.Video,
		"behavior": source, "units_of": "responses in the recording's units (model rate × training mean)"}
	if err := writePrediction(opts.Out, ext, out, units, opts.RateHz, attrs); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "predicted %d units × %d frames (%.1f s at %g Hz) of %s with session %s; %s → %s\n",
		U, n, float64(n)/opts.RateHz, opts.RateHz, opts.Video, key, source, opts.Out)
	return nil
}

// pickSession finds the session of a mouse in a model folder.
func pickSession(dir string, mouse int, session string) (string, error) {
	keys, err := sessionsIn(dir)
	if err != nil {
		return "", err
	}
	id := strconv.Itoa(mouse)
	mine := sessionKeysOf(keys, id)
	switch {
	case session != "":
		k := id + "-" + session
		if !contains(mine, k) {
			return "", fmt.Errorf("model %s has no session %s of mouse %d (it has %s)", dir, session, mouse, strings.Join(mine, ", "))
		}
		return k, nil
	case len(mine) == 0:
		return "", fmt.Errorf("model %s has no session of mouse %d (it has %s): fine-tune it with fmcore finetune --new-mouse %d", dir, mouse, strings.Join(keys, ", "), mouse)
	case len(mine) > 1:
		return "", usagef("mouse %d has %d sessions in %s (%s): choose one with --session", mouse, len(mine), dir, strings.Join(mine, ", "))
	}
	return mine[0], nil
}

// behaviorInput is the model's perspective and modulation input per frame.
type behaviorInput struct {
	eye      []float32 // [T,2] standardised
	behavior []float32 // [T,2] standardised pupil, running
}

// readBehavior reads and standardises T frames of behaviour, or uses the defaults.
func readBehavior(opts *predictOptions, T int, st *data.Stats) (behaviorInput, string, error) {
	in := behaviorInput{eye: make([]float32, 2*T), behavior: make([]float32, 2*T)}
	if opts.Behavior == "" {
		if opts.Trial != "" {
			return in, "", usagef("--trial needs --behavior REC.h5")
		}
		return in, "none given: pupil and eye at their training means, running speed 0", nil
	}
	raw := data.Trial{Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T)}
	var source string
	switch strings.ToLower(filepath.Ext(opts.Behavior)) {
	case ".csv":
		if err := readBehaviorCSV(opts.Behavior, T, &raw); err != nil {
			return in, "", err
		}
		source = "CSV " + opts.Behavior
	case ".h5", ".hdf5":
		if opts.Trial == "" {
			return in, "", usagef("--behavior %s is a recording: name the trial with --trial", opts.Behavior)
		}
		f, err := h5.Open(opts.Behavior)
		if err != nil {
			return in, "", err
		}
		defer f.Close()
		tr, err := f.ReadTrial(opts.Trial)
		if err != nil {
			return in, "", err
		}
		for t := range T {
			i := min(t, tr.Frames-1) // hold the last value past the trial's end
			raw.Pupil[t], raw.Running[t] = tr.Pupil[i], tr.Running[i]
			raw.Eye[2*t], raw.Eye[2*t+1] = tr.Eye[2*i], tr.Eye[2*i+1]
		}
		source = fmt.Sprintf("trial %s of %s", opts.Trial, opts.Behavior)
	default:
		return in, "", usagef("--behavior %s: want a .csv file or an .h5 recording", opts.Behavior)
	}
	for t := range T {
		for _, v := range []float32{raw.Pupil[t], raw.Running[t], raw.Eye[2*t], raw.Eye[2*t+1]} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return in, "", fmt.Errorf("--behavior %s: frame %d is not finite: fill the gaps first", opts.Behavior, t)
			}
		}
		in.behavior[2*t], in.behavior[2*t+1] = raw.Pupil[t], raw.Running[t]
	}
	st.ApplyEye(in.eye, raw.Eye)
	st.ApplyBehavior(in.behavior, in.behavior)
	return in, source, nil
}

// readBehaviorCSV reads columns pupil, running, eye_x, eye_y (a header row names them,
// in any order); rows past T are ignored, a shorter file is an error.
func readBehaviorCSV(path string, T int, tr *data.Trial) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--behavior %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("--behavior %s: read the header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, want := range []string{"pupil", "running", "eye_x", "eye_y"} {
		if _, ok := col[want]; !ok {
			return fmt.Errorf("--behavior %s: no column %q: the header must name pupil, running, eye_x, eye_y", path, want)
		}
	}
	for t := 0; t < T; t++ {
		rec, err := r.Read()
		if err == io.EOF {
			return fmt.Errorf("--behavior %s: %d rows, the video has %d frames at this rate", path, t, T)
		}
		if err != nil {
			return fmt.Errorf("--behavior %s: %w", path, err)
		}
		get := func(name string) (float32, error) {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[col[name]]), 32)
			if err != nil {
				return 0, fmt.Errorf("--behavior %s: row %d, column %s: %q is not a number", path, t+2, name, rec[col[name]])
			}
			return float32(v), nil
		}
		var errs [4]error
		tr.Pupil[t], errs[0] = get("pupil")
		tr.Running[t], errs[1] = get("running")
		tr.Eye[2*t], errs[2] = get("eye_x")
		tr.Eye[2*t+1], errs[3] = get("eye_y")
		if err := errors.Join(errs[:]...); err != nil {
			return err
		}
	}
	return nil
}

// writePrediction writes responses [T,U] in the format of ext.
func writePrediction(path, ext string, resp []float32, units data.Units, rate float64, attrs map[string]string) error {
	U := units.Len()
	switch ext {
	case ".h5", ".hdf5":
		return h5.WritePrediction(path, h5.Prediction{Responses: resp, Units: units, RateHz: rate, Attrs: attrs})
	case ".npy":
		return writeFileAtomic(path, npyFloat32(resp, len(resp)/U, U))
	default: // .csv: a header of unit ids, one row per frame
		var b strings.Builder
		b.WriteString("frame")
		for _, id := range units.ID {
			b.WriteString(",unit_" + strconv.FormatInt(id, 10))
		}
		b.WriteByte('\n')
		for t := 0; t < len(resp)/U; t++ {
			b.WriteString(strconv.Itoa(t))
			for _, v := range resp[t*U : (t+1)*U] {
				b.WriteByte(',')
				b.WriteString(strconv.FormatFloat(float64(v), 'g', 7, 32))
			}
			b.WriteByte('\n')
		}
		return writeFileAtomic(path, []byte(b.String()))
	}
}

// npyFloat32 encodes a [rows, cols] float32 array in NumPy's .npy format, version 1.0:
// magic, a header dict padded so the data starts on a 64-byte boundary, little-endian
// data in C order.
func npyFloat32(v []float32, rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	pad := 64 - (10+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	header := dict + strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, 10+len(header)+4*len(v))
	out = append(out, "\x93NUMPY\x01\x00"...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	out = append(out, header...)
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out
}
