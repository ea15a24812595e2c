// The interactive API reference at /api/v1/docs: Swagger UI (vendored) on the app's own OpenAPI
// document. Nothing is fetched from elsewhere: validatorUrl null stops the badge's online check.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list"
  });
})();
