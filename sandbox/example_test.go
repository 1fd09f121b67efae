package sandbox_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/tetherhq/tether/sandbox"
)

func get(url, key string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Api-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d Retry-After=%q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
}

func Example() {
	sb := sandbox.New(sandbox.Options{Seed: 1})
	srv := httptest.NewServer(sb)
	defer srv.Close()

	key := sb.CreateKey("acct_demo", sandbox.ScopeOrders)
	fmt.Println(get(srv.URL+"/api/me", key))
	fmt.Println(get(srv.URL+"/api/returns", key))

	// The next request is rate limited, the one after is fine again.
	sb.AddFault(sandbox.Fault{PathPrefix: "/api/orders", Status: 429, RetryAfter: 2, Count: 1})
	fmt.Println(get(srv.URL+"/api/orders/1", key))
	fmt.Println(get(srv.URL+"/api/orders/1", key))
	fmt.Println(sb.RequestCount(), "provider requests")

	// Output:
	// 200 Retry-After="" {"account":{"id":"acct_demo","name":"Demo Warehouse (acct_demo)"},"scopes":["orders:read"]}
	// 403 Retry-After="" {"error":"insufficient_scope","message":"The API key lacks the returns:read scope."}
	// 429 Retry-After="2" {"error":"injected_fault","status":429}
	// 200 Retry-After="" {"data":{"id":1,"number":"SO-0001","status":"shipped","total":914.47,"currency":"EUR","created_at":"2025-12-22T14:58:39.194Z","updated_at":"2025-12-28T15:38:40.288Z"}}
	// 4 provider requests
}
