// Starts Swagger UI on the page's #swagger-ui element, for the document its data-spec names.
// A file of its own, not an inline script: the page's Content-Security-Policy allows scripts
// from this service only.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never ask validator.swagger.io: nothing leaves the cluster
  });
});
