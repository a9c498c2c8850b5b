"""allauth's own words on the pages and in the mails Threshold shows, listed for our catalogue.

allauth ships its own translations, but its Spanish says "usted" and "autenticación de dos
factores" where the portal says "tú" and "verificación en dos pasos". A string listed here is
extracted by makemessages into our catalogue (locale/), and Django prefers the catalogues in
LOCALE_PATHS to an app's own, so a person reads the portal's wording on allauth's pages too
(sign-in, sign-up, sessions) and in its mails (the sign-up code).

Each msgid must be allauth's exactly (allauth/locale/es/LC_MESSAGES/django.po has them); one
that allauth later rewords simply falls back to allauth's translation. Nothing imports this.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

ALLAUTH_WORDING = (
    gettext_noop("This account is currently inactive."),
    gettext_noop("You cannot remove your primary email address."),
    gettext_noop("This email address is already associated with this account."),
    gettext_noop("The email address and/or password you specified are not correct."),
    gettext_noop("A user is already registered with this email address."),
    gettext_noop("Please type your current password."),
    gettext_noop("Incorrect code."),
    gettext_noop("Incorrect password."),
    gettext_noop("Invalid or expired key."),
    gettext_noop("Invalid login."),
    gettext_noop("You cannot add more than %d email addresses."),
    gettext_noop("Too many failed login attempts. Try again later."),
    gettext_noop("Your primary email address must be verified."),
    gettext_noop("Please select only one."),
    gettext_noop("The new value must be different from the current one."),
    gettext_noop("Be patient, you are sending too many requests."),
    gettext_noop("Use your password"),
    gettext_noop("Use authenticator app or code"),
    gettext_noop("Use a security key"),
    gettext_noop("Email address"),
    gettext_noop("Forgot your password?"),
    gettext_noop("You must type the same password each time."),
    gettext_noop("Remember Me"),
    gettext_noop("Password (again)"),
    gettext_noop("Current Password"),
    gettext_noop("New Password"),
    gettext_noop("New Password (again)"),
    gettext_noop("You cannot add an email address to an account protected by two-factor authentication."),
    gettext_noop("You cannot deactivate two-factor authentication."),
    gettext_noop("You cannot generate recovery codes without having two-factor authentication enabled."),
    gettext_noop("You cannot activate two-factor authentication until you have verified your email address."),
    gettext_noop("Authenticator code"),
    gettext_noop("Account Inactive"),
    gettext_noop("This account is inactive."),
    gettext_noop("We've sent a code to %(recipient)s. The code expires shortly, so please enter it soon."),
    gettext_noop("Confirm"),
    gettext_noop("Request new code"),
    gettext_noop("Alternative options"),
    gettext_noop("Sign In"),
    gettext_noop(
        "You are receiving this email because you or someone else tried to signup for an\naccount using email address:\n\n%(email)s\n\nHowever, an account using that email address already exists.  In case you have\nforgotten about this, please use the password forgotten procedure to recover\nyour account:\n\n%(password_reset_url)s"
    ),
    gettext_noop("Account Already Exists"),
    gettext_noop("Hello from %(site_name)s!"),
    gettext_noop("Thank you for using %(site_name)s!\n%(site_domain)s"),
    gettext_noop("You are receiving this mail because the following change was made to your account:"),
    gettext_noop(
        "If you do not recognize this change then please take proper security precautions immediately. The change to your account originates from:\n\n- IP address: %(ip)s\n- Browser: %(user_agent)s\n- Date: %(timestamp)s"
    ),
    gettext_noop("This mail can be safely ignored if you did not initiate this action."),
    gettext_noop(
        "You are receiving this email because you, or someone else, tried to access an account with email %(email)s. However, we do not have any record of such an account in our database."
    ),
    gettext_noop("If it was you, you can sign up for an account using the link below."),
    gettext_noop("Unknown Account"),
    gettext_noop(
        "You're receiving this email because user %(user_display)s has given your email address to register an account on %(site_domain)s."
    ),
    gettext_noop(
        "Your email verification code is listed below. Please enter it in your open browser window."
    ),
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop("Confirm Email Address"),
    gettext_noop("Unable to confirm %(email)s because it is already confirmed by a different account."),
    gettext_noop("If you have not created an account yet, then please %(link)ssign up%(end_link)s first."),
    gettext_noop("Sign Out"),
    gettext_noop("Are you sure you want to sign out?"),
    gettext_noop("You cannot remove your primary email address (%(email)s)."),
    gettext_noop("Confirmation email sent to %(email)s."),
    gettext_noop("You have confirmed %(email)s."),
    gettext_noop("Removed email address %(email)s."),
    gettext_noop("Successfully signed in as %(name)s."),
    gettext_noop("You have signed out."),
    gettext_noop("Password successfully changed."),
    gettext_noop("Password successfully set."),
    gettext_noop("Primary email address set."),
    gettext_noop("Change Password"),
    gettext_noop("Set Password"),
    gettext_noop("Enter your password:"),
    gettext_noop("Signup"),
    gettext_noop("Sign Up"),
    gettext_noop("Already have an account? Then please %(link)ssign in%(end_link)s."),
    gettext_noop("Note"),
    gettext_noop("You are already logged in as %(user_display)s."),
    gettext_noop("Warning:"),
    gettext_noop(
        "You currently do not have any email address set up. You should really add an email address so you can receive notifications, reset your password, etc."
    ),
    gettext_noop("Two-Factor Authentication"),
    gettext_noop("Sessions"),
    gettext_noop(
        "Your account is protected by two-factor authentication. Please enter an authenticator code:"
    ),
    gettext_noop("Authenticator app activated."),
    gettext_noop("Authenticator app deactivated."),
    gettext_noop("Authenticator App"),
    gettext_noop("Deactivate"),
    gettext_noop("Activate"),
    gettext_noop("Recovery Codes"),
    ngettext_lazy(
        "There is %(unused_count)s out of %(total_count)s recovery codes available.",
        "There are %(unused_count)s out of %(total_count)s recovery codes available.",
        1,
    ),
    gettext_noop("Generate"),
    gettext_noop("A new set of recovery codes has been generated."),
    gettext_noop("Save them  in a secure location now — they won't be shown again."),
    gettext_noop("Security key added."),
    gettext_noop("Security key removed."),
    gettext_noop("Enter an authenticator code:"),
    gettext_noop("You are about to generate a new set of recovery codes for your account."),
    gettext_noop("This action will invalidate your existing codes."),
    gettext_noop("Are you sure?"),
    gettext_noop("Unused codes"),
    gettext_noop("Download codes"),
    gettext_noop("Generate new codes"),
    gettext_noop("I have saved my recovery codes"),
    gettext_noop("Activate Authenticator App"),
    gettext_noop(
        "To protect your account with two-factor authentication, scan the QR code below with your authenticator app. Then, input the verification code generated by the app below."
    ),
    gettext_noop("Authenticator secret"),
    gettext_noop("You can store this secret and use it to reinstall your authenticator app at a later time."),
    gettext_noop("Deactivate Authenticator App"),
    gettext_noop("You are about to deactivate authenticator app based authentication. Are you sure?"),
    gettext_noop("Signed out of all other sessions."),
    gettext_noop("Started At"),
    gettext_noop("IP Address"),
    gettext_noop("Browser"),
    gettext_noop("Last seen at"),
    gettext_noop("Current"),
    gettext_noop("Sign Out Other Sessions"),
)
