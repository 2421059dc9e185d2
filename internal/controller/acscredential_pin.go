package controller

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// PINs live in Secrets only. They are read through the APIReader (never cached, so
// the operator's memory holds no Secret it does not need), never logged, never put
// in status, events, metrics or error strings: status keeps an HMAC of the PIN
// keyed by the operator's signing key, which a 4-digit PIN cannot be guessed from.

const (
	// GeneratedPINKey is the key of a generated PIN in the Secret the operator owns.
	GeneratedPINKey = "pin"
	// annotationRotation records, on a generated PIN's Secret, the spec.code.rotate
	// value it was generated for: a new value generates a new PIN.
	annotationRotation = "seam.acs-operator.io/rotation"
	// Seam's error type for a PIN another credential of the system has.
	errorTypeDuplicateCode = "duplicate_code_on_acs_system"
	// Seam's error type for a PIN of a length the system does not take.
	errorTypeInvalidCodeLength = "invalid_code_length"
)

var pinDigits = regexp.MustCompile(`^\d+$`)

// secretCtx is ctx without its logger, for the calls that carry a PIN (see
// connection.SecretContext).
func secretCtx(ctx context.Context) context.Context { return connection.SecretContext(ctx) }

// pinSourceError is a PIN that cannot be read; its message never holds the PIN.
type pinSourceError struct{ msg string }

func (e *pinSourceError) Error() string { return e.msg }

// desiredPIN reads the PIN the spec asks for, generating it first if needed.
func (r *AcsCredentialReconciler) desiredPIN(ctx context.Context, cred *seamv1alpha1.AcsCredential) (seam.PIN, error) {
	ctx = secretCtx(ctx)
	src := cred.Spec.Code
	if src.SecretRef != nil {
		s := &corev1.Secret{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: cred.Namespace, Name: src.SecretRef.Name}, s)
		switch {
		case apierrors.IsNotFound(err):
			return "", &pinSourceError{fmt.Sprintf("Secret %q (spec.code.secretRef) does not exist", src.SecretRef.Name)}
		case err != nil:
			return "", err
		}
		v, ok := s.Data[src.SecretRef.Key]
		if !ok || !pinDigits.Match(v) {
			return "", &pinSourceError{fmt.Sprintf("key %q of Secret %q (spec.code.secretRef) must hold the PIN: digits only", src.SecretRef.Key, src.SecretRef.Name)}
		}
		return seam.PIN(v), nil
	}
	return r.generatedPIN(ctx, cred, false)
}

// generatedPIN returns the PIN in the Secret the operator owns for cred, making it
// (or a new one, when regenerate is set or spec.code.rotate changed) first.
func (r *AcsCredentialReconciler) generatedPIN(ctx context.Context, cred *seamv1alpha1.AcsCredential, regenerate bool) (seam.PIN, error) {
	ctx = secretCtx(ctx)
	name := cred.Name + "-pin"
	cred.Status.CodeSecretName = name
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: cred.Namespace, Name: name}, s)
	switch {
	case apierrors.IsNotFound(err):
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cred.Namespace, Name: name}}
		if err := controllerutil.SetControllerReference(cred, s, r.Scheme()); err != nil {
			return "", err
		}
		pin, err := r.fillPIN(s, cred)
		if err != nil {
			return "", err
		}
		return pin, r.Create(ctx, s)
	case err != nil:
		return "", err
	case !metav1.IsControlledBy(s, cred):
		return "", &pinSourceError{fmt.Sprintf("Secret %q exists and is not this AcsCredential's: the operator will not write a PIN into it; delete or rename it", name)}
	}
	v, ok := s.Data[GeneratedPINKey]
	if regenerate || !ok || !pinDigits.Match(v) || s.Annotations[annotationRotation] != cred.Spec.Code.Rotate {
		pin, err := r.fillPIN(s, cred)
		if err != nil {
			return "", err
		}
		return pin, r.Update(ctx, s)
	}
	return seam.PIN(v), nil
}

// fillPIN writes a new random PIN into s.
func (r *AcsCredentialReconciler) fillPIN(s *corev1.Secret, cred *seamv1alpha1.AcsCredential) (seam.PIN, error) {
	length := int(cred.Spec.Code.Generate.Length)
	if length == 0 {
		length = 6
	}
	pin := make([]byte, length)
	for i := range pin {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		pin[i] = byte('0' + d.Int64())
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[annotationRotation] = cred.Spec.Code.Rotate
	s.Data = map[string][]byte{GeneratedPINKey: pin}
	return seam.PIN(pin), nil
}

// appliedHash identifies the PIN and rotation the spec asks for, keyed so it tells
// nothing about the PIN.
func (r *AcsCredentialReconciler) appliedHash(w *credentialWork) string {
	if w.cred.Spec.Code == nil {
		return ""
	}
	return r.Signer.Sign("pin", string(w.cred.UID), w.pin.Reveal(), w.cred.Spec.Code.Rotate)
}

// pinRefusal says why Seam refused a PIN ("" when the error is not about the PIN).
func pinRefusal(err error) string {
	var apiErr *seam.APIError
	if !errors.As(err, &apiErr) {
		return ""
	}
	switch {
	case apiErr.Type == errorTypeDuplicateCode:
		return ReasonPINInUse
	case apiErr.Type == errorTypeInvalidCodeLength:
		return ReasonPINLength
	}
	return ""
}

// failPIN reports a PIN that could not be read or that Seam refused, saying which
// and what to do, without the PIN.
func (r *AcsCredentialReconciler) failPIN(ctx context.Context, cred *seamv1alpha1.AcsCredential, err error) (ctrl.Result, error) {
	var src *pinSourceError
	where := "the Secret named in spec.code.secretRef"
	if cred.Spec.Code != nil && cred.Spec.Code.SecretRef != nil {
		where = fmt.Sprintf("key %q of Secret %q", cred.Spec.Code.SecretRef.Key, cred.Spec.Code.SecretRef.Name)
	} else if cred.Spec.Code != nil {
		where = "spec.code.generate.length"
	}
	var reason, msg string
	switch {
	case errors.As(err, &src):
		reason, msg = ReasonPINSecretMissing, "Cannot read the PIN: "+src.msg
	case pinRefusal(err) == ReasonPINInUse:
		reason, msg = ReasonPINInUse, "Seam refused the PIN: another credential in this access system already has it. Put another PIN in "+where
		if cred.Spec.Code.Generate != nil {
			msg = "Seam refused the generated PIN twice: other credentials in this access system have them. Change spec.code.rotate to generate another"
		}
	case pinRefusal(err) == ReasonPINLength:
		var apiErr *seam.APIError
		errors.As(err, &apiErr)
		reason, msg = ReasonPINLength, fmt.Sprintf("Seam refused the PIN's length for this access system (%s). Fix %s", apiErr.Message, where)
	default:
		return r.fail(ctx, cred, err, "Setting the PIN")
	}
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true, stalled: true, settled: true})
	return r.resync(), nil
}
