"""Imports every domain's models so that Alembic and the app see one metadata."""
from storefront.accounts.cron_runs import CronRun  # noqa: F401
from storefront.accounts.models import Company, LoginThrottle, User  # noqa: F401
from storefront.analytics.commerce_models import (  # noqa: F401
    CategoryDaily,
    CategoryRollup,
    ProductDaily,
    ProductRollup,
    SourceDaily,
    SourceRollup,
)
from storefront.analytics.models import (  # noqa: F401
    DailyRollup,
    DirtyHour,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
    HourlyRollup,
    RollupState,
)
from storefront.billing.message_variants import MessageVariant  # noqa: F401
from storefront.billing.models import (  # noqa: F401
    Invoice,
    PaymentAttempt,
    SaveOffer,
    Subscription,
    SubscriptionPlan,
)
from storefront.billing.upsell_models import UpsellOffer, UpsellPurchase  # noqa: F401
from storefront.cart.models import Cart, LineItem, SavedCartItem  # noqa: F401
from storefront.catalog.co_purchase import ProductPair  # noqa: F401
from storefront.catalog.models import (  # noqa: F401
    Category,
    Product,
    ProductImage,
    StockReservation,
    Variant,
)
from storefront.checkout.models import Customer, Order, OrderLine  # noqa: F401
from storefront.landing.models import LandingPage, LandingPageProduct, Section, SlugRedirect  # noqa: F401
from storefront.leads.models import (  # noqa: F401
    AbandonmentAnalysis,
    FieldEvent,
    Lead,
    LeadActivity,
    LeadNote,
)
from storefront.media.models import MediaAsset  # noqa: F401
from storefront.notifications.models import EmailSuppression, OutboundMessage, PhoneConsent  # noqa: F401
from storefront.payments.models import StripeEvent  # noqa: F401
from storefront.portal.models import PortalLink  # noqa: F401
from storefront.pricing.models import (  # noqa: F401
    Promotion,
    PromotionCode,
    PromotionUsage,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)
from storefront.recovery.models import CartIntervention, CartSaveAttempt, CartSaveConfig  # noqa: F401
from storefront.visits.models import Visit, VisitEvent  # noqa: F401
