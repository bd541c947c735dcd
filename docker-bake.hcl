# The paysync images, for users who have Docker: `docker buildx bake` (all) or
# `docker buildx bake reconciler`. Images are <REGISTRY>/<REPOSITORY>/<component>:<TAG>, as the
# Helm chart's image.registry / image.repository / image.tag expect.
variable "REGISTRY" {
  default = "ghcr.io"
}

variable "REPOSITORY" {
  default = "paysync"
}

variable "TAG" {
  default = "0.1.0"
}

variable "NODE_IMAGE" {
  default = "node:24-bookworm-slim"
}

group "default" {
  targets = ["callback-gateway", "points-ledger", "reconciler", "alerting"]
}

target "_common" {
  context   = "."
  platforms = ["linux/amd64", "linux/arm64"]
  args = {
    NODE_IMAGE = NODE_IMAGE
  }
  labels = {
    "org.opencontainers.image.source"  = "https://github.com/paysync/paysync"
    "org.opencontainers.image.version" = TAG
    "org.opencontainers.image.vendor"  = "paysync"
  }
}

target "callback-gateway" {
  inherits   = ["_common"]
  dockerfile = "services/callback-gateway/Dockerfile"
  tags       = ["${REGISTRY}/${REPOSITORY}/callback-gateway:${TAG}"]
}

target "points-ledger" {
  inherits   = ["_common"]
  dockerfile = "services/points-ledger/Dockerfile"
  tags       = ["${REGISTRY}/${REPOSITORY}/points-ledger:${TAG}"]
}

target "reconciler" {
  inherits   = ["_common"]
  dockerfile = "services/reconciler/Dockerfile"
  tags       = ["${REGISTRY}/${REPOSITORY}/reconciler:${TAG}"]
}

target "alerting" {
  inherits   = ["_common"]
  dockerfile = "services/alerting/Dockerfile"
  tags       = ["${REGISTRY}/${REPOSITORY}/alerting:${TAG}"]
}
