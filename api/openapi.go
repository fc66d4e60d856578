package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPISpec is the OpenAPI 3.1 document of every route this package
// registers; a test keeps the two in step.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPISpec returns the embedded OpenAPI 3.1 document.
func OpenAPISpec() []byte { return append([]byte(nil), openAPISpec...) }

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPISpec)
}
