// Package sim simulates datasets of "digital mice": recordings in fmcore's format with
// known ground truth, for training and for checking every claim the project makes.
//
// The work is split three ways: package stimulus renders the videos (natural-like
// movies and the out-of-domain kinds), package mouse turns frames and behaviour into
// neural responses from one feature bank shared by every mouse, and this package plans
// who sees what (tiers, repeats, shared videos), runs it clip by clip in bounded memory,
// and hands videos and recordings to a Sink that the CLI implements with data/video and
// data/h5. Feature maps are computed once per clip and shared by every mouse that sees
// it.
package sim
