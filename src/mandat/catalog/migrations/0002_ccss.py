"""Seed the CCSS catalogue: the institution, its four domains and their services."""

from django.db import migrations

INSTITUTION = (
    "CCSS",
    "Centre commun de la sécurité sociale",
    "Gemeinsames Sozialversicherungszentrum",
    "Joint Social Security Centre",
)
DOMAINS = [
    (
        "EMPLOYER",
        "Données générales de l'employeur",
        "Allgemeine Daten des Arbeitgebers",
        "Employer general data",
        [
            (
                "employer_data_view",
                "consult",
                "Consulter les données de l'employeur",
                "Arbeitgeberdaten einsehen",
                "View employer data",
            ),
            (
                "employer_data_update",
                "act",
                "Modifier les données de l'employeur",
                "Arbeitgeberdaten ändern",
                "Update employer data",
            ),
        ],
    ),
    (
        "AFFILIATIONS",
        "Affiliations des salariés",
        "Anmeldungen der Arbeitnehmer",
        "Employee affiliations",
        [
            (
                "affiliations_view",
                "consult",
                "Consulter les affiliations",
                "Anmeldungen einsehen",
                "View affiliations",
            ),
            (
                "affiliation_declare",
                "act",
                "Déclarer une entrée ou une sortie",
                "Ein- oder Austritt melden",
                "Declare an entry or an exit",
            ),
        ],
    ),
    (
        "REMUNERATIONS",
        "Rémunérations et incapacités de travail des salariés",
        "Entlohnungen und Arbeitsunfähigkeiten der Arbeitnehmer",
        "Remunerations and work incapacities",
        [
            (
                "remunerations_view",
                "consult",
                "Consulter les rémunérations déclarées",
                "Gemeldete Entlohnungen einsehen",
                "View declared remunerations",
            ),
            (
                "remunerations_declare",
                "act",
                "Déclarer les rémunérations",
                "Entlohnungen melden",
                "Declare remunerations",
            ),
            (
                "incapacity_declare",
                "act",
                "Déclarer une incapacité de travail",
                "Arbeitsunfähigkeit melden",
                "Declare a work incapacity",
            ),
        ],
    ),
    (
        "BILLING",
        "Facturation et comptabilité",
        "Fakturierung und Buchhaltung",
        "Billing and accounting",
        [
            (
                "statements_view",
                "consult",
                "Consulter les extraits de compte",
                "Kontoauszüge einsehen",
                "View account statements",
            ),
            (
                "payment_plan_request",
                "act",
                "Demander un plan de paiement",
                "Zahlungsplan beantragen",
                "Request a payment plan",
            ),
        ],
    ),
]


def seed(apps, schema_editor):
    Institution = apps.get_model("catalog", "Institution")
    Domain = apps.get_model("catalog", "Domain")
    Service = apps.get_model("catalog", "Service")
    code, fr, de, en = INSTITUTION
    institution = Institution.objects.create(code=code, name_fr=fr, name_de=de, name_en=en)
    for position, (code, fr, de, en, services) in enumerate(DOMAINS, start=1):
        domain = Domain.objects.create(
            institution=institution,
            code=code,
            position=position,
            name_fr=fr,
            name_de=de,
            name_en=en,
        )
        for service_code, level, sfr, sde, sen in services:
            Service.objects.create(
                domain=domain,
                code=service_code,
                level=level,
                name_fr=sfr,
                name_de=sde,
                name_en=sen,
            )


def unseed(apps, schema_editor):
    Service = apps.get_model("catalog", "Service")
    Domain = apps.get_model("catalog", "Domain")
    Institution = apps.get_model("catalog", "Institution")
    Service.objects.filter(domain__institution__code="CCSS").delete()
    Domain.objects.filter(institution__code="CCSS").delete()
    Institution.objects.filter(code="CCSS").delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
