package store

import (
	"context"
	"sync"
)

// feed fans committed transactions out to subscribers. Each subscriber has
// an unbounded queue drained by its own goroutine, so publishing never
// blocks on a slow subscriber. The backend publishes while holding its
// writer lock, so every queue is in revision order.
type feed struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup // one per running subscriber goroutine
}

// subscriber is one Subscribe call: its callback, queue and goroutine.
type subscriber struct {
	fn    func(Commit)
	mu    sync.Mutex
	queue []Commit
	wake  chan struct{} // capacity 1: "the queue may be non-empty"
	stop  chan struct{} // closed when the feed closes
}

// init prepares an empty feed.
func (f *feed) init() {
	f.subs = make(map[*subscriber]struct{})
}

// subscribe registers fn and starts its goroutine, which runs until ctx is
// done or the feed closes.
func (f *feed) subscribe(ctx context.Context, fn func(Commit)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	s := &subscriber{
		fn:   fn,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
	f.subs[s] = struct{}{}
	f.wg.Add(1)
	go f.run(ctx, s)
	return nil
}

// active reports whether anyone is subscribed, so that writers can skip
// building events nobody reads.
func (f *feed) active() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs) > 0
}

// publish queues c for every subscriber. Each gets its own copy of the
// bytes, so one subscriber cannot see another's changes to them.
func (f *feed) publish(c Commit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	left := len(f.subs)
	for s := range f.subs {
		left--
		if left > 0 {
			s.push(cloneCommit(c))
		} else {
			s.push(c) // the last one takes the original
		}
	}
}

// close ends every subscription and waits for their goroutines, including
// a callback in progress, to finish. Queued commits are dropped.
func (f *feed) close() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		for s := range f.subs {
			close(s.stop)
		}
		clear(f.subs)
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// remove forgets s after its context ended.
func (f *feed) remove(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, s)
}

// run delivers s's queue in order until ctx is done or the feed closes. It
// checks both before every callback, so none starts after either.
func (f *feed) run(ctx context.Context, s *subscriber) {
	defer f.wg.Done()
	defer f.remove(s)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			batch := s.take()
			if len(batch) == 0 {
				break
			}
			for i := range batch {
				if ctx.Err() != nil || s.stopped() {
					return
				}
				s.fn(batch[i])
				batch[i] = Commit{} // let the commit be collected
			}
		}
	}
}

// push appends c to the queue and wakes the goroutine.
func (s *subscriber) push(c Commit) {
	s.mu.Lock()
	s.queue = append(s.queue, c)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// take empties the queue and returns what it held.
func (s *subscriber) take() []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// stopped reports whether the feed has closed.
func (s *subscriber) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// cloneCommit deep-copies c's byte slices.
func cloneCommit(c Commit) Commit {
	out := Commit{Revision: c.Revision, Note: cloneBytes(c.Note)}
	out.Ops = make([]Op, len(c.Ops))
	for i, op := range c.Ops {
		out.Ops[i] = Op{Key: op.Key, Before: cloneBytes(op.Before), After: cloneBytes(op.After)}
	}
	return out
}

// cloneBytes copies b, keeping nil as nil and empty as empty.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
