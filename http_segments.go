package flagstore

import (
	"net/http"
	"net/url"
)

// segmentRoutes are LaunchDarkly's segment operations. Big-segment
// membership, imports and exports, expiring targets and the membership
// evaluation route are not served.
func (a *api) segmentRoutes() []*route {
	const list = "/segments/{projectKey}/{environmentKey}"
	const one = list + "/{segmentKey}"
	return []*route{
		{method: http.MethodGet, path: list, operationID: "getSegments", handle: a.getSegments},
		{method: http.MethodPost, path: list, operationID: "postSegment", handle: a.postSegment},
		{method: http.MethodGet, path: one, operationID: "getSegment", handle: a.getSegment},
		{method: http.MethodPatch, path: one, operationID: "patchSegment", handle: a.patchSegment},
		{method: http.MethodDelete, path: one, operationID: "deleteSegment", handle: a.deleteSegment},
	}
}

// segmentRep is LaunchDarkly's UserSegment: the segment with its links and,
// from getSegment only, the flags that use it.
type segmentRep struct {
	Segment
	Links Links                `json:"_links"`
	Flags []segmentFlagListing `json:"_flags,omitzero"`
}

// segmentFlagListing is LaunchDarkly's FlagListingRep.
type segmentFlagListing struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Links Links  `json:"_links"`
	Site  Link   `json:"_site"`
}

// segmentPathKeys are a segment route's project and environment keys.
func segmentPathKeys(r *http.Request) (proj, env string) {
	return r.PathValue("projectKey"), r.PathValue("environmentKey")
}

// newSegmentRep gives a segment its self and parent links.
func newSegmentRep(proj, env string, seg Segment) segmentRep {
	return segmentRep{Segment: seg, Links: selfLinks(apiPath("segments", proj, env, seg.Key), apiPath("segments", proj, env))}
}

// getSegments lists an environment's segments (UserSegments).
func (a *api) getSegments(w http.ResponseWriter, r *http.Request) error {
	proj, env := segmentPathKeys(r)
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := a.s.QuerySegments(r.Context(), proj, env, SegmentQuery{
		Limit: limit, Offset: offset, Sort: q.Get("sort"), Filter: q.Get("filter"),
	})
	if err != nil {
		return err
	}
	items := make([]segmentRep, len(l.Items))
	for i, seg := range l.Items {
		items[i] = newSegmentRep(proj, env, seg)
	}
	return writeJSON(w, http.StatusOK, collection[segmentRep]{
		Items:      items,
		Links:      pageLinks(r, apiPath("segments", proj, env), limit, offset, l.TotalCount),
		TotalCount: l.TotalCount,
	})
}

// postSegment creates a segment (201 UserSegment). Big segments are
// refused: this store keeps no big-segment membership.
func (a *api) postSegment(w http.ResponseWriter, r *http.Request) error {
	proj, env := segmentPathKeys(r)
	var body SegmentPost
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Unbounded {
		return invalidf("unbounded", "big segments (unbounded: true) are not supported by this server")
	}
	seg, err := a.s.CreateSegment(r.Context(), proj, env, body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newSegmentRep(proj, env, seg))
}

// getSegment returns one segment with the flags that use it (_flags).
func (a *api) getSegment(w http.ResponseWriter, r *http.Request) error {
	proj, env := segmentPathKeys(r)
	seg, flags, err := a.s.segmentWithFlags(r.Context(), proj, env, r.PathValue("segmentKey"))
	if err != nil {
		return err
	}
	rep := newSegmentRep(proj, env, seg)
	rep.Flags = make([]segmentFlagListing, len(flags))
	for i, f := range flags {
		rep.Flags[i] = segmentFlagListing{
			Key:   f.Key,
			Name:  f.Name,
			Links: selfLinks(apiPath("flags", proj, f.Key), apiPath("flags", proj)),
			Site:  siteLink("/" + url.PathEscape(proj) + "/" + url.PathEscape(env) + "/features/" + url.PathEscape(f.Key)),
		}
	}
	return writeJSON(w, http.StatusOK, rep)
}

// patchSegment updates a segment with JSON Patch, merge patch or semantic
// patch (whose body must name the environment), honouring dryRun.
func (a *api) patchSegment(w http.ResponseWriter, r *http.Request) error {
	proj, env := segmentPathKeys(r)
	p, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	seg, err := a.s.PatchSegment(r.Context(), proj, env, r.PathValue("segmentKey"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newSegmentRep(proj, env, seg))
}

// deleteSegment deletes a segment (204); one that a flag or another
// segment uses is a 409.
func (a *api) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	proj, env := segmentPathKeys(r)
	if err := a.s.DeleteSegment(r.Context(), proj, env, r.PathValue("segmentKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
