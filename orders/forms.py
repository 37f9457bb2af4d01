from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.urls import reverse

from orders.addresses import ShippingAddress, address_clean, countries_offered
from orders.exceptions import AddressInvalid
from orders.models import Profile
from orders.services.accounts import ACCOUNT_EXISTS, email_normalize, password_reset_email_send


class SignupForm(forms.Form):
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    email = forms.EmailField(max_length=150)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = email_normalize(self.cleaned_data["email"])
        User = get_user_model()
        if User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(ACCOUNT_EXISTS)
        return email

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            User = get_user_model()
            candidate = User(username=cleaned.get("email", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(p1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ShopLoginForm(AuthenticationForm):
    """Email + password. Staff accounts are refused: they sign in to the
    OTP-protected admin, so the shop login can never open a staff session.
    The refusal reads exactly like a wrong password, so the form does not
    tell which emails belong to staff (or that the password was right)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
    }

    def clean_username(self) -> str:
        return email_normalize(self.cleaned_data["username"])

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.is_staff or user.is_superuser:
            raise self.get_invalid_login_error()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = [
            "full_name",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
        ]

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise forms.ValidationError("Use the two-letter country code, e.g. US.")
        return value


class ShippingAddressForm(forms.Form):
    """The address an order ships to, asked at checkout before payment. The
    rules live in `orders.addresses.address_clean`; this form only maps its
    messages onto the fields. `address` holds the result once valid."""

    name = forms.CharField(label="Full name", max_length=150, required=False)
    line1 = forms.CharField(label="Street address", max_length=200, required=False)
    line2 = forms.CharField(
        label="Apartment, suite, floor (optional)", max_length=200, required=False
    )
    city = forms.CharField(label="City", max_length=100, required=False)
    region = forms.CharField(label="State / province / region", max_length=100, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    country = forms.ChoiceField(label="Country", required=False)
    phone = forms.CharField(
        label="Phone (optional)",
        max_length=30,
        required=False,
        help_text="Only for the carrier, if they need to reach you.",
    )
    save_to_profile = forms.BooleanField(
        label="Save as my default address", required=False, initial=True
    )

    autocomplete = {
        "name": "shipping name",
        "line1": "shipping address-line1",
        "line2": "shipping address-line2",
        "city": "shipping address-level2",
        "region": "shipping address-level1",
        "postal_code": "shipping postal-code",
        "country": "shipping country",
        "phone": "shipping tel",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._address: ShippingAddress | None = None
        cast(forms.ChoiceField, self.fields["country"]).choices = [("", "Choose a country")] + [
            (c.code, c.name) for c in countries_offered()
        ]
        for name, token in self.autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["phone"].widget.input_type = "tel"

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        fields = {name: cleaned.get(name, "") for name in self.autocomplete}
        try:
            self._address = address_clean(**fields)
        except AddressInvalid as error:
            for name, message in error.errors.items():
                self.add_error(name, message)
        return cleaned

    @property
    def address(self) -> ShippingAddress:
        """The validated address: read it once `is_valid()` said yes."""
        if self._address is None:
            raise ValueError("The address form is not valid; check is_valid() first.")
        return self._address


class ShopPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending through RDK's emails (rdk/emails.py): the
    shop's templates, a link absolute from SITE_URL, delivered by a task."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        reset_path = reverse(
            "orders:password_reset_confirm",
            kwargs={"uidb64": context["uid"], "token": context["token"]},
        )
        password_reset_email_send(user=context["user"], reset_path=reset_path)
