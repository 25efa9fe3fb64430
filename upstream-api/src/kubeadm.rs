//! `kubeadm.k8s.io` configuration documents: [`v1beta3`] and [`v1beta4`] mirrored field by field
//! from `cmd/kubeadm/app/apis/kubeadm/{v1beta3,v1beta4}/types.go` of kubernetes/kubernetes.

pub mod core;
pub mod v1beta3;
pub mod v1beta4;
